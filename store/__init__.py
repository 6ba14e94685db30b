"""The results store (SQLAlchemy): schema and its migration, queries, run liveness,
maintenance windows and the spool of journeys a run could not store."""
