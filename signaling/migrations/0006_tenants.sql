-- Tenant isolation. Each user's tenant, as their latest token states it (the
-- server API reaches a tenant's users through it), and whether a room was made
-- by a user who is not staff (a token's room grant never admits into those).
-- (users.tenant itself comes with 0005.)
CREATE INDEX IF NOT EXISTS users_tenant ON users(tenant);
ALTER TABLE rooms ADD COLUMN user_created INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS rooms_tenant ON rooms(tenant);
