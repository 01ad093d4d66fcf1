CREATE TABLE "app_names" (
	"name" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"owner_name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Each existing name goes to the importer of its oldest version (the first importer).
INSERT INTO "app_names" ("name", "owner", "owner_name", "created_at")
SELECT DISTINCT ON ("name") "name", "owner", "owner_name", "created_at" FROM "apps" ORDER BY "name", "created_at", "id";
