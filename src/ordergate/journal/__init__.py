"""The durable order journal: every order is written here before it is sent."""
