-- X.509 certificate guards (Pulp's certguard plugin): the CA whose certificates pass, as PEM.
ALTER TABLE content_guards ADD COLUMN ca_certificate TEXT;
