"""Scene language: prompt grammar and safe expressions."""
