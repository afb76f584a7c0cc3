// A remote index names what to download; it may not make the installer read local files
// (which it would hash and print) or build a local repository.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { editManifest, cli, publish, serveFolder, tempDir } from './packages-helpers.js';

describe('what a remote index may name', () => {
  it.each([
    {
      field: 'artifacts[0].url',
      edit: (m: Record<string, any>) => (m.artifacts[0].url = 'file:///etc/hostname'),
    },
    {
      field: 'source.git',
      edit: (m: Record<string, any>) => {
        m.artifacts = [];
        m.source = { git: '/srv/repos/x', commit: 'a'.repeat(40) };
      },
    },
  ])(
    'an http index naming a local $field is refused before anything is read',
    async ({ field, edit }) => {
      const index = tempDir('pkg-index');
      const project = tempDir('pkg-project');
      await publish(index, '1.0.0');
      editManifest(index, '1.0.0', edit);
      const server = await serveFolder(index);
      const r = await cli(project, 'install', 'demo', '--index', server.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${field} `);
      expect(r.stderr).toContain(
        'names a local file; a remote index may only name remote URLs or files inside itself',
      );
      const hostname = createHash('sha256').update(readFileSync('/etc/hostname')).digest('hex');
      expect(r.stderr).not.toContain(hostname);
      expect(server.downloads).toBe(0);
    },
  );

  it('a folder index (the user’s own files) may still name a local artifact', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    const file = `${index}/demo/${readManifest(index).artifacts[0].url}`;
    editManifest(index, '1.0.0', (m) => (m.artifacts[0].url = `file://${file}`));
    const r = await cli(project, 'install', 'demo', '--index', index);
    expect([r.code, r.stderr]).toEqual([0, '']);
  });
});

const readManifest = (index: string) =>
  JSON.parse(readFileSync(`${index}/demo/1.0.0.json`, 'utf8'));
