"""The scanner service: consumes published versions, analyses them in limited workers, publishes verdicts."""
