// Pages backwards through a list with Apollo Client's relayStylePagination, as a front
// end's "load earlier" button does: the last PAGE rows, then fetchMore with `before`
// the start cursor until hasPreviousPage is false. Prints what Apollo's cache merged,
// as JSON {names, pages, error}. Run by tests/graphql/transport/test_interop_js.py:
//   node pages.mjs HTTP_URL PAGE
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { filter, firstValueFrom } from "rxjs";

const [url, size] = process.argv.slice(2);
const query = gql`
  query Animals($last: Int, $before: String, $sort: [AnimalSort!]) {
    animals(last: $last, before: $before, sort: $sort) {
      edges { cursor node { id name } }
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    }
  }
`;
const apollo = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { animals: relayStylePagination(["sort"]) } } },
  }),
});
const sort = [{ field: "NAME", direction: "DESC" }];
let result;
try {
  const watched = apollo.watchQuery({ query, variables: { last: Number(size), sort } });
  let answer = await firstValueFrom(watched.pipe(filter((r) => !r.loading)));
  let pages = 1;
  while (answer.data.animals.pageInfo.hasPreviousPage && pages < 50) {
    const before = answer.data.animals.pageInfo.startCursor;
    await watched.fetchMore({ variables: { last: Number(size), before, sort } });
    answer = watched.getCurrentResult();
    pages += 1;
  }
  const names = answer.data.animals.edges.map((edge) => edge.node.name);
  result = { names, pages, error: null };
} catch (error) {
  result = { names: null, pages: 0, error: String(error.message) };
}
console.log(JSON.stringify(result));
process.exit(0);
