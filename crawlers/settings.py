"""Scrapy settings: polite by default, tuned for a broad crawl (many portals in one engine).
Per-portal values (delay, timeout, size cap) come from each portal's config: a download slot per
host (DOWNLOAD_SLOTS, set by the spider) and request meta; see crawlers/config.py."""

BOT_NAME = "nianbao"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "nianbao/0.1 (research crawler for government information disclosure annual reports)"

# One request in flight per host; AutoThrottle adapts each host's delay to its latency, never
# below its portal's delay (crawlers/throttle.py). The spider raises CONCURRENT_REQUESTS to
# twice the number of hosts; the priority queue hands out requests of idle hosts first
# (crawlers/jobdir.py), so one portal's long list never starves the others.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
SCHEDULER_PRIORITY_QUEUE = "crawlers.jobdir.IdleFirstPriorityQueue"
REACTOR_THREADPOOL_MAXSIZE = 20  # DNS lookups of many hosts at once
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
    "crawlers.middlewares.PortalGate": 50,  # a stopped portal's requests are held, not sent
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
# A full disk under the JOBDIR stops the crawl with one line (see crawlers/jobdir.py). List
# offsets live in each portal's resume record, not in Scrapy's spider state.
SCHEDULER = "crawlers.jobdir.DiskFullScheduler"
SCHEDULER_DISK_QUEUE = "crawlers.jobdir.SavedOnStopQueue"  # written once, on a clean stop
SCHEDULER_START_DISK_QUEUE = "crawlers.jobdir.SavedOnStopQueue"
# Spider output (a list page's requests) handled a few at a time: Scrapy starts a task per
# slot of CONCURRENT_ITEMS for every callback, and the items here are stored synchronously.
CONCURRENT_ITEMS = 8
EXTENSIONS = {"scrapy.extensions.spiderstate.SpiderState": None,
              "scrapy.extensions.throttle.AutoThrottle": None,
              "crawlers.throttle.PortalAutoThrottle": 0}
LOGSTATS_INTERVAL = 60.0
ITEM_PIPELINES = {"crawlers.pipelines.RawStorePipeline": 300}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
