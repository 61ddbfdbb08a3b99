// A graphql-ws client that drops its connection every EVERY events and resumes with
// the last cursor it handled, as a phone going through tunnels would. Run by
// tests/graphql/transport/test_interop_js.py:
//   node resume.mjs HTTP_URL AFTER COUNT EVERY
// Prints READY once the first subscription is under way, then each event as a JSON
// line; exits 0 after COUNT events, 1 on any error (printed) or after 20 s.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [httpUrl, firstAfter, countText, everyText] = process.argv.slice(2);
const count = Number(countText);
const every = Number(everyText);
const url = httpUrl.replace(/^http/, "ws");
const query =
  "subscription($after: String) { animalEvents(after: $after) { kind cursor animal { id name } } }";

let seen = 0;
let ready = false;
function fail(error) {
  console.log(JSON.stringify({ error: String(error?.message ?? JSON.stringify(error)) }));
  process.exit(1);
}
setTimeout(() => fail(`timed out after ${seen} events`), 20000);

function subscribeAfter(after) {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    on: {
      connected: () => {
        if (!ready) {
          ready = true;
          console.log("READY"); // what happens next is replayed or live: either way, seen
        }
      },
    },
  });
  let inThisConnection = 0;
  const unsubscribe = client.subscribe(
    { query, variables: { after } },
    {
      next(result) {
        if (result.errors) fail(JSON.stringify(result.errors));
        const event = result.data.animalEvents;
        console.log(JSON.stringify(event));
        seen += 1;
        inThisConnection += 1;
        if (seen >= count) process.exit(0);
        if (inThisConnection === every) {
          unsubscribe();
          client.dispose();
          subscribeAfter(event.cursor);
        }
      },
      error: fail,
      complete: () => {},
    },
  );
}

subscribeAfter(firstAfter);
