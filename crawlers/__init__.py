"""Scrapy project: portal configs, platform adapters, spiders, raw-store pipeline."""
