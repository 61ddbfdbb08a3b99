// PostGraphile 5 as a peer for `make bench-peers`: the Amber preset over the public schema
// with postgraphile-plugin-connection-filter (query d's `filter`),
// no GraphiQL, no explain, one Node process; creates only (bench/peers.py leaves them to the
// animals table with smart comments). Usage: node postgraphile.mjs URL PORT
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

const [connectionString, port] = process.argv.slice(2);
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  disablePlugins: ["PgMutationUpdateDeletePlugin"],
  pgServices: [makePgService({ connectionString, schemas: ["public"] })],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
const server = createServer();
server.keepAliveTimeout = 60_000;
await postgraphile(preset).createServ(grafserv).addTo(server);
server.listen(Number(port), "127.0.0.1", () => console.log("listening"));
