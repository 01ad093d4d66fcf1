# App Repository (src/repository: PostgreSQL/PGlite via drizzle) and blob store (src/storage); docs/storage.md.
.PHONY: db-migration test-repository test-storage bench-catalog

db-migration: ## write a SQL migration for changes to src/repository/schema.ts (NAME=short_name)
	npx drizzle-kit generate $(if $(NAME),--name=$(NAME))

test-repository: ## repository on PGlite and PostgreSQL, migrations, schema/migration drift
	npm test -- test/repository.test.ts test/repository-migrate.test.ts test/repository-schema.test.ts

test-storage: ## blob store on a folder and on S3 (versitygw), multipart uploads and their memory
	npm test -- test/storage.test.ts

bench-catalog: ## keyset pagination: page 2000 vs page 1 at 100k app versions (PGlite and PostgreSQL)
	node --import tsx bench/catalog.ts both
