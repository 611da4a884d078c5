"""freshrec."""
