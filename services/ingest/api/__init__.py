"""HTTP routes of the library: parse, authorise, call one domain function, return."""
