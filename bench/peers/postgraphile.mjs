// PostGraphile 5 as a peer for `make bench-peers`: the Amber preset over the public schema,
// no GraphiQL, no explain, one Node process; creates only (bench/peers.py leaves them to the
// animals table with smart comments). Usage: node postgraphile.mjs URL PORT
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const [connectionString, port] = process.argv.slice(2);
const preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["PgMutationUpdateDeletePlugin"],
  pgServices: [makePgService({ connectionString, schemas: ["public"] })],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
const server = createServer();
server.keepAliveTimeout = 60_000;
await postgraphile(preset).createServ(grafserv).addTo(server);
server.listen(Number(port), "127.0.0.1", () => console.log("listening"));
