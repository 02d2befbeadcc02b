"""The clinic's page views, one module per group of pages."""
