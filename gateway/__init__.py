"""The GraphQL gateway: the one front door for every UI."""
