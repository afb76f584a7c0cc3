// Bearer tokens from a tokens_file: blank and comment lines are never tokens, and the
// check compares digests in constant time against every token.
import { describe, expect, it } from 'vitest';
import { checkToken, parseTokens } from '../src/gateway/security.js';
import { Status } from '../src/status.js';

const bearer = (token: string) => `Bearer ${token}`;

describe('gateway tokens', () => {
  it.each([
    { text: 'a\nb\n', tokens: ['a', 'b'] },
    { text: '# gateway tokens, rotate monthly\n  s3cret  \n\n', tokens: ['s3cret'] },
    { text: '#\n   # indented comment\n\t\n', tokens: [] },
    { text: 'tok#en\n', tokens: ['tok#en'] },
    {
      text: 'alice  s3cret-a\nbob\ts3cret-b\n',
      tokens: [
        { name: 'alice', token: 's3cret-a' },
        { name: 'bob', token: 's3cret-b' },
      ],
    },
  ])('$text', ({ text, tokens }) => {
    expect(parseTokens(text)).toEqual(tokens);
  });

  it('a comment line of the file does not open the gateway; a token does', () => {
    const tokens = parseTokens('# gateway tokens, rotate monthly\ns3cret\n');
    expect(checkToken(bearer('# gateway tokens, rotate monthly'), tokens)?.code).toBe(
      Status.UNAUTHENTICATED,
    );
    expect(checkToken(bearer(''), tokens)?.code).toBe(Status.UNAUTHENTICATED);
    expect(checkToken(bearer('s3cre'), tokens)?.code).toBe(Status.UNAUTHENTICATED);
    expect(checkToken(bearer('s3cret'), tokens)).toBeUndefined();
    expect(checkToken(undefined, tokens)?.code).toBe(Status.UNAUTHENTICATED);
  });
});
