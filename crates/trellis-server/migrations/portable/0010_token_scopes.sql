-- API tokens get scopes (what they may be used for) and an expiry date.
-- Tokens made before keep every right of their user and never expire.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_tokens ADD COLUMN expires_on TEXT;
