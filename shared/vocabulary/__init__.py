"""The closed vocabularies, one definition per term: domain rules, wire contracts and the GraphQL enums use these."""
