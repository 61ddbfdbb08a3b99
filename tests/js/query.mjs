// Runs one query through a JavaScript client's HTTP transport, as a front end's page
// would, and prints {data, error} as JSON. Run by tests/graphql/transport/test_interop_js.py:
//   node query.mjs CLIENT HTTP_URL QUERY
// CLIENT: urql | apollo
import { Client, fetchExchange } from "@urql/core";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [client, url, query] = process.argv.slice(2);
let result;
if (client === "urql") {
  const urql = new Client({ url, exchanges: [fetchExchange] });
  const answer = await urql.query(query, {}).toPromise();
  result = { data: answer.data ?? null, error: answer.error ? answer.error.message : null };
} else if (client === "apollo") {
  const apollo = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() });
  try {
    const answer = await apollo.query({ query: gql(query) });
    result = { data: answer.data, error: null };
  } catch (error) {
    result = { data: null, error: String(error.message) };
  }
} else {
  result = { data: null, error: `unknown client ${client}` };
}
console.log(JSON.stringify(result));
