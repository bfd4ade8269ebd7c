"""The revisions of the job store's schema, oldest first: ``0001_initial`` is the schema of the first release."""
