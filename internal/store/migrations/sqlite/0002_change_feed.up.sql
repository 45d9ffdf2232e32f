-- PostgreSQL announces changes to other instances here; a SQLite database
-- has one daemon, which publishes its own changes in process. The step
-- exists so both engines keep the same schema version numbers.
SELECT 1;
