// Runs every document of a GraphQL Code Generator manifest through a client's
// persisted-documents settings (each sent by its hash only, never its text), then one
// ad-hoc query as plain text, and prints what came back as JSON. Run by
// tests/graphql/transport/test_interop_js.py:
//   node trusted.mjs CLIENT HTTP_URL MANIFEST
// CLIENT: apollo | urql
import { readFileSync } from "node:fs";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { print, stripIgnoredCharacters } from "graphql";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const [client, url, manifestPath] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
// Each document as the front end's code holds it, with the hash the manifest gives it.
// The clients hash what they send (their own __typename added): looked up by its text.
const documents = Object.entries(manifest).map(([hash, text]) => ({
  document: gql(text),
  hash: hash.replace(/^sha256:/, ""),
  text: stripIgnoredCharacters(text),
  variables: text.includes("$first") ? { first: 1 } : {},
}));
const hashOf = (document) => {
  const text = stripIgnoredCharacters(print(document));
  const found = documents.find((d) => d.text === text);
  if (!found) throw new Error(`not in the manifest: ${text}`);
  return found.hash;
};
const plainData = (data) => JSON.parse(JSON.stringify(data ?? null, (k, v) => (k === "__typename" ? undefined : v)));

let texts = 0;
async function watchedFetch(input, init = {}) {
  const address = new URL(typeof input === "string" ? input : input.url);
  const body = init.body ? JSON.parse(init.body) : Object.fromEntries(address.searchParams);
  if (typeof body.query === "string" && body.query.length > 0) texts += 1;
  return fetch(input, init);
}

const results = [];
if (client === "apollo") {
  const persisted = new PersistedQueryLink({ generateHash: hashOf, useGETForHashedQueries: true });
  const apollo = new ApolloClient({
    link: persisted.concat(new HttpLink({ uri: url, fetch: watchedFetch })),
    cache: new InMemoryCache(),
  });
  for (const { document, variables } of documents) {
    const answer = await apollo.query({ query: document, variables, fetchPolicy: "network-only" });
    results.push({ data: plainData(answer.data), error: null });
  }
} else if (client === "urql") {
  const urql = new Client({
    url,
    fetch: watchedFetch,
    exchanges: [
      persistedExchange({
        generateHash: async (_query, document) => hashOf(document),
        enforcePersistedQueries: true,
        preferGetForPersistedQueries: true,
      }),
      fetchExchange,
    ],
  });
  for (const { document, variables } of documents) {
    const answer = await urql.query(document, variables, { requestPolicy: "network-only" }).toPromise();
    results.push({ data: plainData(answer.data), error: answer.error ? answer.error.message : null });
  }
}
// An ad-hoc query, as any client sends one: its text.
const adhoc = await fetch(url, {
  method: "POST",
  headers: { "Content-Type": "application/json", Accept: "application/json" },
  body: JSON.stringify({ query: "{ animals(first: 2) { totalCount } }" }),
});
const refused = await adhoc.json();
results.push({ status: adhoc.status, code: refused.errors?.[0]?.extensions?.code ?? null });
console.log(JSON.stringify({ results, texts }));
