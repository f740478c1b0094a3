import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { rolesWith } from '../access/permissions';
import type { Principal } from '../access/principal';
import { usernameKey } from '../common/username-key';
import { inTransaction } from '../database/transaction';
import type { AlertStatus } from './alert.entity';
import type { AlertDetailView, AlertHistoryView, AlertNoteView, CreateNoteDto } from './alert-triage.dto';
import type { AlertView } from './alerts.dto';
import { AlertsService } from './alerts.service';

export interface AlertChanges {
  status?: AlertStatus;
  /** A username; null unassigns; undefined leaves the assignee as it is. */
  assignee?: string | null;
}

/**
 * Who changed an alert or wrote a note: a user's username; a key as its label and service name,
 * "ak_1a2b3c4d (soar-bot)", so that a key named like a person is never taken for them (usernames
 * hold no spaces) and the audit trail, which names keys by label, finds it.
 */
export function actorOf(principal: Principal): string {
  return principal.kind === 'api_key' ? `${principal.keyPrefix ?? 'ak_?'} (${principal.sub})` : principal.sub;
}

const ASSIGNEE_ROLES = rolesWith('alerts:write');

/**
 * One statement: locks the alerts (in id order, so two bulk changes never deadlock), changes them,
 * and writes a history row for every status or assignee that really changed, naming the actor.
 * Returns the ids it changed; the caller compares them with those asked for.
 */
const CHANGE_ALERTS = `
  WITH old AS (
    SELECT "id", "status", "assignee_id" FROM "alerts" WHERE "id" = ANY($1::uuid[]) ORDER BY "id" FOR UPDATE
  ), changed AS (
    UPDATE "alerts" a
       SET "status" = COALESCE($2::varchar, a."status"),
           "assignee_id" = CASE WHEN $3::boolean THEN $4::uuid ELSE a."assignee_id" END,
           "updated_at" = clock_timestamp()
      FROM old
     WHERE a."id" = old."id"
    RETURNING a."id", old."status" AS old_status, a."status" AS new_status, old."assignee_id" AS old_assignee, a."assignee_id" AS new_assignee
  ), history AS (
    INSERT INTO "alert_history" ("alert_id", "actor", "field", "from", "to")
    SELECT c."id", $5, 'status', c.old_status, c.new_status FROM changed c WHERE c.old_status <> c.new_status
    UNION ALL
    SELECT c."id", $5, 'assignee', fu."username", tu."username"
      FROM changed c LEFT JOIN "users" fu ON fu."id" = c.old_assignee LEFT JOIN "users" tu ON tu."id" = c.new_assignee
     WHERE c.old_assignee IS DISTINCT FROM c.new_assignee
    RETURNING 1
  )
  SELECT "id" FROM changed`;

/** Assignment, status changes (one alert or many, all or nothing), notes and the history of each alert. */
@Injectable()
export class AlertTriage {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly alerts: AlertsService,
  ) {}

  async update(id: string, changes: AlertChanges, principal: Principal): Promise<AlertView> {
    await this.change([id], changes, principal);
    const view = await this.alerts.viewOf(id);
    await this.alerts.announce('alert.updated', view);
    return view;
  }

  /** All the alerts change, or (an unknown id, a refused assignee) none does. */
  async updateMany(ids: string[], changes: AlertChanges, principal: Principal): Promise<{ updated: number }> {
    const wanted = ids.map((id) => id.toLowerCase());
    await this.change(wanted, changes, principal);
    for (const view of await this.alerts.viewsOf(wanted)) await this.alerts.announce('alert.updated', view);
    return { updated: wanted.length };
  }

  async addNote(alertId: string, dto: CreateNoteDto, principal: Principal): Promise<AlertNoteView> {
    const note = await inTransaction(this.dataSource, async (manager) => {
      const [touched]: [unknown[], number] = await manager.query(`UPDATE "alerts" SET "updated_at" = clock_timestamp() WHERE "id" = $1 RETURNING "id"`, [
        alertId,
      ]);
      if (touched.length === 0) throw new NotFoundException('no alert with this id');
      const rows: NoteRow[] = await manager.query(
        `INSERT INTO "alert_notes" ("alert_id", "author", "text") VALUES ($1, $2, $3) RETURNING "id", "author", "text", "created_at"`,
        [alertId, actorOf(principal), dto.text],
      );
      return noteView(rows[0]);
    });
    await this.alerts.announce('alert.updated', await this.alerts.viewOf(alertId));
    return note;
  }

  async detail(id: string): Promise<AlertDetailView> {
    const view = await this.alerts.viewOf(id);
    const notes: NoteRow[] = await this.dataSource.query(
      `SELECT "id", "author", "text", "created_at" FROM "alert_notes" WHERE "alert_id" = $1 ORDER BY "created_at", "id"`,
      [id],
    );
    const history: HistoryRow[] = await this.dataSource.query(
      `SELECT "at", "actor", "field", "from", "to" FROM "alert_history" WHERE "alert_id" = $1 ORDER BY "id"`,
      [id],
    );
    return { ...view, notes: notes.map(noteView), history: history.map(historyView) };
  }

  private async change(ids: string[], changes: AlertChanges, principal: Principal): Promise<void> {
    if (changes.status === undefined && changes.assignee === undefined) {
      throw new BadRequestException('send status, assignee or both');
    }
    await inTransaction(this.dataSource, async (manager) => {
      const assigneeId = changes.assignee === undefined || changes.assignee === null ? null : await this.assignable(manager, changes.assignee);
      const changed: Array<{ id: string }> = await manager.query(CHANGE_ALERTS, [
        ids,
        changes.status ?? null,
        changes.assignee !== undefined,
        assigneeId,
        actorOf(principal),
      ]);
      if (changed.length < ids.length) {
        const found = new Set(changed.map((row) => row.id));
        const unknown = ids.filter((id) => !found.has(id));
        // Thrown inside the transaction: it rolls back, nothing changed.
        throw new NotFoundException(
          ids.length === 1 ? 'no alert with this id' : `no alert with id ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}`,
        );
      }
    });
  }

  /**
   * The id of the enabled user with this username (compared as the users module compares names)
   * whose role holds alerts:write. The row is share-locked until the change commits, so the user
   * cannot be disabled, demoted or deleted half-way.
   */
  private async assignable(manager: EntityManager, username: string): Promise<string> {
    const rows: Array<{ id: string }> = await manager.query(
      `SELECT "id" FROM "users" WHERE "username_key" = $1 AND "disabled" = false AND "role" = ANY($2) FOR SHARE`,
      [usernameKey(username), ASSIGNEE_ROLES],
    );
    if (rows.length === 0) throw new BadRequestException('assignee must name an enabled user who holds alerts:write');
    return rows[0].id;
  }
}

interface NoteRow {
  id: string;
  author: string;
  text: string;
  created_at: Date | string;
}

interface HistoryRow {
  at: Date | string;
  actor: string;
  field: 'status' | 'assignee';
  from: string | null;
  to: string | null;
}

function noteView(row: NoteRow): AlertNoteView {
  return { id: row.id, author: row.author, text: row.text, created_at: new Date(row.created_at).toISOString() };
}

function historyView(row: HistoryRow): AlertHistoryView {
  return { at: new Date(row.at).toISOString(), actor: row.actor, field: row.field, from: row.from, to: row.to };
}
