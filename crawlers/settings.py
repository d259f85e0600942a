"""Scrapy settings: polite by default. Per-portal values (delay, timeout, size cap) come from the
portal's config as spider attributes; see crawlers/config.py."""

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "nianbao/0.1 (research crawler for government information disclosure annual reports)"

# One request in flight per host; AutoThrottle adapts the delay to the server's latency.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50%
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

ROBOTSTXT_OBEY = True

# Retries only for server errors and timeouts (challenge statuses 412/521 are never retried).
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]

DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 20 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.RobotsTxt": 100,
    "crawlers.middlewares.RetryAfter": 560,
    "crawlers.middlewares.Conditional": 580,
    "crawlers.middlewares.AntiBot": 590,
    "crawlers.middlewares.AllowedRedirects": 610,  # before RedirectMiddleware (600) sees it
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawlers.middlewares.Compression": 590,
    "crawlers.middlewares.RequestCap": 900,  # after Conditional (580): real requests only
    "crawlers.middlewares.Encoding": 950,
}
# A full disk under the JOBDIR stops the crawl with one line (see crawlers/jobdir.py).
SCHEDULER = "crawlers.jobdir.DiskFullScheduler"
EXTENSIONS = {"scrapy.extensions.spiderstate.SpiderState": None,
              "crawlers.jobdir.DiskFullSpiderState": 0}
ITEM_PIPELINES = {"crawlers.pipelines.RawStorePipeline": 300}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
