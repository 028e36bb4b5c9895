"""Small spaces used by the tests: a fast toy CNN and variants that misbehave on purpose."""
