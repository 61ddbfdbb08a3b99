// Runs graphql-http's audit of the GraphQL over HTTP specification against a server and
// prints each check as a JSON line. Run by tests/graphql/transport/test_interop_js.py:
//   node audit.mjs GRAPHQL_URL
import { auditServer } from "graphql-http";

const results = await auditServer({ url: process.argv[2] });
for (const { id, name, status, reason } of results) {
  console.log(JSON.stringify({ id, name, status, reason: reason ?? null }));
}
