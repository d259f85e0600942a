"""Scrapy spiders (one, driven by portal configs)."""
