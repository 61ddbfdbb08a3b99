// Runs a query twice through a JavaScript client's automatic persisted queries, as a
// front end with them turned on does, and prints what each request carried and what
// came back, as JSON. Run by tests/graphql/transport/test_interop_js.py:
//   node persisted.mjs CLIENT HTTP_URL QUERY
// CLIENT: apollo-get | apollo-post | urql
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const [client, url, query] = process.argv.slice(2);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

const requests = [];
async function watchedFetch(input, init = {}) {
  const address = new URL(typeof input === "string" ? input : input.url);
  const body = init.body ? JSON.parse(init.body) : {};
  const carried = init.method === "GET" || !init.body ? Object.fromEntries(address.searchParams) : body;
  requests.push({
    method: init.method ?? "GET",
    query: typeof carried.query === "string" && carried.query.length > 0,
    hash: JSON.stringify(carried.extensions ?? "").includes("sha256Hash"),
  });
  return fetch(input, init);
}

const results = [];
if (client === "apollo-get" || client === "apollo-post") {
  const link = new PersistedQueryLink({
    sha256,
    useGETForHashedQueries: client === "apollo-get",
  }).concat(new HttpLink({ uri: url, fetch: watchedFetch }));
  const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  for (let i = 0; i < 2; i++) {
    try {
      const answer = await apollo.query({ query: gql(query), fetchPolicy: "network-only" });
      results.push({ data: answer.data, error: null });
    } catch (error) {
      results.push({ data: null, error: String(error.message) });
    }
  }
} else if (client === "urql") {
  const urql = new Client({
    url,
    fetch: watchedFetch,
    exchanges: [persistedExchange({ preferGetForPersistedQueries: true }), fetchExchange],
  });
  for (let i = 0; i < 2; i++) {
    const answer = await urql.query(query, {}, { requestPolicy: "network-only" }).toPromise();
    results.push({ data: answer.data ?? null, error: answer.error ? answer.error.message : null });
  }
} else {
  results.push({ data: null, error: `unknown client ${client}` });
}
console.log(JSON.stringify({ requests, results }));
