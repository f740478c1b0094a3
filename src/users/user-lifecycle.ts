import { Injectable } from '@nestjs/common';
import type { ClientInfo } from '../common/client-info';
import type { User } from './user.entity';

/** What a confirmed change did to a user's access: the changes that end every sign-in of theirs. */
export type AccessChange = 'role' | 'disabled' | 'password' | 'deleted';

export interface UserAccessChanged {
  user: Pick<User, 'id' | 'username'>;
  changes: AccessChange[];
  /** Who made the change (a username), and from where. */
  actor: string;
  client?: ClientInfo;
}

/**
 * Tells whoever holds state about a user's sign-ins (sessions) that an admin changed the user's
 * access, before the change is answered: the users folder need not know who listens.
 */
@Injectable()
export class UserLifecycle {
  private readonly listeners: Array<(event: UserAccessChanged) => Promise<void>> = [];

  onAccessChanged(listener: (event: UserAccessChanged) => Promise<void>): void {
    this.listeners.push(listener);
  }

  async accessChanged(event: UserAccessChanged): Promise<void> {
    for (const listener of this.listeners) await listener(event);
  }
}
