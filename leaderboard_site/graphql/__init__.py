"""/graphql (seed 002): one schema assembled from the apps' types, the same credentials, roles,
services and error codes as REST."""
