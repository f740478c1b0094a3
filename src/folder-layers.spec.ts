import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * Folders under src/ import downward only: no folder imports, directly or through others, a folder
 * that imports it. Checked between folders, not files (a cycle of folders hides from per-file
 * tools), counting type-only imports too. Specs are left out: a test may reach across.
 */
const SRC = __dirname;

interface Edge {
  from: string;
  to: string;
  /** One import that makes the edge, to name in a failure. */
  example: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [full] : [];
  });
}

/** The folder directly under src/ that holds a file, or null for files at src/ itself. */
function folderOf(file: string): string | null {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0] : null;
}

export function folderEdges(): Map<string, Map<string, Edge>> {
  const edges = new Map<string, Map<string, Edge>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (!from) continue;
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const to = folderOf(path.resolve(path.dirname(file), imported.fileName));
      if (!to || to === from) continue;
      const byTarget = edges.get(from) ?? new Map<string, Edge>();
      if (!byTarget.has(to)) byTarget.set(to, { from, to, example: `${path.relative(SRC, file)} imports '${imported.fileName}'` });
      edges.set(from, byTarget);
    }
  }
  return edges;
}

/** A cycle of folders as its edges, or null: depth-first search for a back edge. */
export function findCycle(edges: Map<string, Map<string, Edge>>): Edge[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: Edge[] = [];
  const visit = (folder: string): Edge[] | null => {
    state.set(folder, 'open');
    for (const edge of edges.get(folder)?.values() ?? []) {
      if (state.get(edge.to) === 'open') {
        const start = stack.findIndex((e) => e.from === edge.to);
        return [...stack.slice(start === -1 ? stack.length : start), edge];
      }
      if (!state.has(edge.to)) {
        stack.push(edge);
        const found = visit(edge.to);
        if (found) return found;
        stack.pop();
      }
    }
    state.set(folder, 'done');
    return null;
  };
  for (const folder of edges.keys()) {
    if (!state.has(folder)) {
      const found = visit(folder);
      if (found) return found;
    }
  }
  return null;
}

describe('folders under src/', () => {
  it('import one another without a cycle', () => {
    const cycle = findCycle(folderEdges());
    const described = cycle?.map((edge) => `${edge.from} -> ${edge.to} (${edge.example})`).join('\n');
    expect(described ?? 'no cycle').toBe('no cycle');
  });

  it('keeps the access leaf (permissions, principal, decorators) free of feature folders', () => {
    const fromAccess = [...(folderEdges().get('access')?.keys() ?? [])];
    expect(fromAccess.filter((to) => to !== 'common')).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const edge = (from: string, to: string): [string, Edge] => [to, { from, to, example: `${from}/x.ts` }];
    const graph = new Map([
      ['a', new Map([edge('a', 'b')])],
      ['b', new Map([edge('b', 'c')])],
      ['c', new Map([edge('c', 'a')])],
    ]);
    expect(findCycle(graph)?.map((e) => e.from)).toEqual(['a', 'b', 'c']);
    graph.get('c')!.delete('a');
    expect(findCycle(graph)).toBeNull();
  });
});
