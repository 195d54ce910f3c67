-- Environment-variable header guards (Pulp's EnvVarHeaderContentGuard): the variable holding the secret.
ALTER TABLE content_guards ADD COLUMN env_var TEXT;
