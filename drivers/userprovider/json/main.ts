// The JSON user provider: users from the file named by the `users` key of its configuration.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RpcError, serve, Status, type User, userprovider } from 'driverkit/driver';
import { directoryHandlers } from '../lib/directory.js';

let users: User[] | undefined;

/** A users file larger than this is refused unread: a device such as /dev/zero never ends. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

async function load(file: string): Promise<User[]> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size > MAX_FILE_BYTES)
      throw new Error(`not a regular file of at most ${MAX_FILE_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `cannot read users file ${JSON.stringify(file)}: ${(err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // Where, not what: node's message quotes the file's first bytes, which may be anyone's secret.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `users file ${JSON.stringify(file)} is not valid JSON${at ? ` (at byte ${at})` : ''}`,
    );
  }
  if (!Array.isArray(data))
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `users file ${JSON.stringify(file)} must hold a JSON array of users`,
    );
  // Both the proto's names (opaque_id) and their JSON form (opaqueId) are accepted.
  return data.map(
    (u) => userprovider.versions[1].methods.getUser.responseType.fromJSON({ user: u }).user!,
  );
}

const lookups = directoryHandlers(() => {
  if (!users)
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      'not configured: call Configure with {"users": "<path to a JSON file>"} first',
    );
  return users;
});

await serve({
  contract: userprovider,
  handlers: {
    1: {
      configure: async (req, ctx) => {
        const file = req.config?.users;
        if (typeof file !== 'string' || file === '') {
          throw new RpcError(
            Status.INVALID_ARGUMENT,
            `config key "users" must be the path of a JSON file, got ${JSON.stringify(file ?? null)}`,
          );
        }
        // Relative paths are relative to the driver's working directory, which the host sets.
        users = await load(resolve(file));
        ctx.log.info('users loaded', { file, count: users.length });
        return {};
      },
      ...lookups,
    },
  },
});
