"""All SQL of the service lives in this package: models, repository functions, migrations."""
