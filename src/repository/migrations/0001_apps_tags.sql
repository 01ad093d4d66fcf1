CREATE TABLE "app_tags" (
	"app_id" uuid NOT NULL,
	"tag_id" uuid NOT NULL,
	CONSTRAINT "app_tags_app_id_tag_id_pk" PRIMARY KEY("app_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text DEFAULT '' NOT NULL,
	"keywords" text[] DEFAULT '{}'::text[] NOT NULL,
	"owner" text NOT NULL,
	"owner_name" text NOT NULL,
	"visibility" text DEFAULT 'PRIVATE' NOT NULL,
	"manifest" jsonb NOT NULL,
	"format" text NOT NULL,
	"bundle_key" text NOT NULL,
	"bundle_sha256" text NOT NULL,
	"bundle_size" bigint NOT NULL,
	"icon_key" text,
	"icon_type" text,
	"screenshots" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"long_description" text,
	"runtime_version" text,
	"search_text" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "apps_name_version_unique" UNIQUE("name","version"),
	CONSTRAINT "apps_visibility_check" CHECK ("apps"."visibility" in ('PRIVATE', 'ALL_USERS', 'PUBLIC')),
	CONSTRAINT "apps_format_check" CHECK ("apps"."format" in ('wave', 'qz'))
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"title" text NOT NULL,
	"color" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"admin_roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"visitor_roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_category" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tags_name_unique" UNIQUE("name"),
	CONSTRAINT "tags_color_check" CHECK ("tags"."color" ~ '^#[0-9A-Fa-f]{6}$')
);
--> statement-breakpoint
ALTER TABLE "app_tags" ADD CONSTRAINT "app_tags_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_tags" ADD CONSTRAINT "app_tags_tag_id_tags_id_fk" FOREIGN KEY ("tag_id") REFERENCES "public"."tags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "app_tags_tag_id_idx" ON "app_tags" USING btree ("tag_id");--> statement-breakpoint
CREATE INDEX "apps_created_at_id_idx" ON "apps" USING btree ("created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "apps_owner_created_at_id_idx" ON "apps" USING btree ("owner","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "apps_visibility_created_at_id_idx" ON "apps" USING btree ("visibility","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "apps_category_idx" ON "apps" USING btree ("category");--> statement-breakpoint
CREATE INDEX "apps_search_text_trgm_idx" ON "apps" USING gin ("search_text" gin_trgm_ops);