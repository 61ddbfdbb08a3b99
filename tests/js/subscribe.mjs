// Subscribes to animalEvents through one of the JavaScript clients front ends use, and
// prints each event as a JSON line. Run by tests/graphql/transport/test_interop_js.py:
//   node subscribe.mjs CLIENT HTTP_URL TOKEN COUNT
// CLIENT: graphql-ws | graphql-sse | apollo-ws | apollo-multipart | urql-ws | urql-fetch
// Prints READY once the subscription is under way; exits 0 after COUNT events,
// 1 on any error (printed) or after 20 s.
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from "@urql/core";
import WebSocket from "ws";

const [client, httpUrl, token, countText] = process.argv.slice(2);
const count = Number(countText);
const wsUrl = httpUrl.replace(/^http/, "ws");
const query = "subscription { animalEvents { kind animal { id name species } } }";
const authorization = token ? `Bearer ${token}` : undefined;

let seen = 0;
function fail(error) {
  console.log(JSON.stringify({ error: String(error?.message ?? JSON.stringify(error)) }));
  process.exit(1);
}
function next(result) {
  if (result.errors) fail(JSON.stringify(result.errors));
  console.log(JSON.stringify(result.data.animalEvents));
  seen += 1;
  if (seen >= count) process.exit(0);
}
setTimeout(() => fail(`timed out after ${seen} events`), 20000);

function wsClient() {
  return createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { Authorization: authorization } : {},
    retryAttempts: 0,
    on: { connected: () => setTimeout(() => console.log("READY"), 300) },
  });
}

if (client === "graphql-ws") {
  wsClient().subscribe({ query }, { next, error: fail, complete: () => {} });
} else if (client === "graphql-sse") {
  const sse = createSseClient({
    url: httpUrl,
    headers: authorization ? { Authorization: authorization } : {},
    retryAttempts: 0,
  });
  sse.subscribe({ query }, { next, error: fail, complete: () => {} });
  setTimeout(() => console.log("READY"), 500);
} else if (client === "apollo-ws" || client === "apollo-multipart") {
  const link =
    client === "apollo-ws"
      ? new GraphQLWsLink(wsClient())
      : new HttpLink({
          uri: httpUrl,
          headers: authorization ? { Authorization: authorization } : {},
        });
  const apollo = new ApolloClient({ link: ApolloLink.from([link]), cache: new InMemoryCache() });
  apollo.subscribe({ query: gql(query) }).subscribe({ next, error: fail });
  if (client === "apollo-multipart") setTimeout(() => console.log("READY"), 500);
} else if (client === "urql-ws" || client === "urql-fetch") {
  // urql-fetch: urql's own fetch exchange, which takes a subscription's events as
  // text/event-stream or multipart/mixed, whichever the server answers with.
  const ws = client === "urql-ws" ? wsClient() : null;
  const exchanges = ws
    ? [
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink),
            }),
          }),
        }),
      ]
    : [fetchExchange];
  const urql = new UrqlClient({
    url: httpUrl,
    exchanges,
    fetchSubscriptions: !ws,
    fetchOptions: { headers: authorization ? { Authorization: authorization } : {} },
  });
  urql.subscription(query, {}).subscribe((result) => {
    if (result.error) fail(result.error);
    next(result);
  });
  if (!ws) setTimeout(() => console.log("READY"), 500);
} else {
  fail(`unknown client ${client}`);
}
