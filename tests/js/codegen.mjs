// GraphQL Code Generator's client preset, as a front end configures it for trusted
// documents: writes gen/persisted-documents.json ({sha256: document}) from documents/.
// Run by tests/graphql/transport/test_interop_js.py: node codegen.mjs SCHEMA OUT_DIR
import { generate } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const [schema, out] = process.argv.slice(2);
await generate(
  {
    schema,
    documents: ["documents/*.graphql"],
    generates: {
      [`${out}/`]: {
        preset: "client",
        presetConfig: { persistedDocuments: { hashAlgorithm: "sha256" } },
        // Apollo Client and urql add __typename to what they send: so must the manifest.
        documentTransforms: [addTypenameSelectionDocumentTransform],
      },
    },
    silent: true,
  },
  true,
);
