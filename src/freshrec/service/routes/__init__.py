"""One router per resource: events, items, users (recommendations, forgetting), health."""
