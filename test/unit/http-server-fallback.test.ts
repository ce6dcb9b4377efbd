// The cases of http-server.test.ts again, with src/socket-response.ts on its fallback (the latest
// response kept on the socket, as on a Node.js without `socket._httpMessage`): drains, shedding
// and in-flight counts must not depend on which way the response in progress is found.
import { forceFallback, usesNodePointer } from '../../src/socket-response.js';
import './http-server.test.js';

forceFallback(true);

test('socket-response: the fallback is in use in this file', () => {
  expect(usesNodePointer()).toBe(false);
});
