"""/graphql (the Test Bench API's, and more): one schema assembled from the apps' types, the same
credentials, roles, services and error codes as REST."""
