"""Spiders whose API requests carry a signature only the platform's own page script can compute.

Xiaohongshu's ``X-s`` and Zhihu's ``x-zse-96`` come out of obfuscated scripts that change without
notice, need a browser (``crypto.subtle``, ``document.cookie``, the DOM) and read cookies those same
scripts set. Reimplementing them is a race a monitoring service loses, so the spider keeps one real
page of the site open in the system Chromium (through scrapy-playwright) and asks that page to sign.
The API requests themselves still go through plain Scrapy: one browser call of a few milliseconds
per request, instead of a page load per request.

The page stays open until the run ends (scrapy-playwright closes the browser with the crawl).
A signature the site calls stale (its script's secret rotated) is answered by reloading the page,
once per run: more refusals after a fresh page mean signing itself is broken, and the crawl says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawlers.context import load_crawl_config
from crawlers.login import CHROMIUM, CHROMIUM_ARGS
from crawlers.spiders.base import DESKTOP_USER_AGENT, PlatformSpider

if TYPE_CHECKING:
    from playwright.async_api import Page
    from scrapy.http import Response

__all__ = ["SIGNING_FAILED_STAT", "PageSignedSpider", "Redo", "Signature", "SigningError"]

SIGNING_FAILED_STAT = "fengxiang/signing_failed"  # why no request could be signed; the run failed

_CONTEXT = "signing"


Redo = Callable[[], Awaitable[scrapy.Request | None]]  # builds and signs a refused request anew


class SigningError(Exception):
    """The page cannot sign: the message names the cause and the fix."""


class Signature(NamedTuple):
    headers: dict[str, str]
    generation: int  # of the page that signed: put it in the request's meta for stale_signature()


class PageSignedSpider(PlatformSpider):
    default_web_url: ClassVar[str]  # the platform's site, e.g. https://www.xiaohongshu.com
    signing_page: ClassVar[str]  # the page to open under web_url, e.g. /explore
    sign_function: ClassVar[str]  # the page's signing function, e.g. window._webmsxyw

    page: Page | None = None
    page_cookies: dict[str, str]
    signing_generation = 0  # grows with each reload of the page: older signatures may be stale
    _reload: asyncio.Future[bool] | None = None  # the run's one reload, once a signature was refused

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        source = load_crawl_config(settings.get("FENGXIANG_CONFIG")).sources.get(cls.platform)
        page_url = (source and (source.web_url or source.base_url)) or cls.default_web_url
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        settings.setdict(
            {
                # Only requests with meta["playwright"] go to the browser; scrapy-playwright hands the
                # rest to Scrapy's own HTTP handler. One scheme only: each handler starts a browser.
                "DOWNLOAD_HANDLERS": {urlsplit(page_url).scheme: handler},
                "PLAYWRIGHT_BROWSER_TYPE": "chromium",
                "PLAYWRIGHT_LAUNCH_OPTIONS": {
                    "executable_path": str(CHROMIUM),
                    "headless": True,
                    "args": CHROMIUM_ARGS,
                },
                # The browser and the API requests must look like one visitor: the sites compare them.
                "PLAYWRIGHT_CONTEXTS": {_CONTEXT: {"user_agent": DESKTOP_USER_AGENT, "locale": "zh-CN"}},
                # The page loads with the browser's own headers, not the JSON API's.
                "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
                "USER_AGENT": DESKTOP_USER_AGENT,
            },
            priority="spider",
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PageSignedSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, PageSignedSpider)
        spider.page_cookies = {}
        return spider

    @property
    def web_url(self) -> str:
        source = self.context.source
        return source.web_url or source.base_url or self.default_web_url

    def signing_page_request(self, callback: Any, **kwargs: Any) -> scrapy.Request:
        """The browser request for the signing page; its callback must call :meth:`use_signing_page` first."""
        kwargs.setdefault("errback", self.signing_page_failed)
        meta = {
            "playwright": True,
            "playwright_include_page": True,
            "playwright_context": _CONTEXT,
            "playwright_page_init_callback": self._add_login_cookies,
        }
        return scrapy.Request(
            self.web_url + self.signing_page, callback=callback, meta=meta, dont_filter=True, **kwargs
        )

    async def _add_login_cookies(self, page: Page, _request: scrapy.Request) -> None:
        login = self.session_cookies()
        if login:
            await page.context.add_cookies(
                [{"name": name, "value": value, "url": self.web_url} for name, value in login.items()]
            )

    async def use_signing_page(self, response: Response) -> bool:
        """Keep the page the response came from for the whole run and read the cookies its script set.
        False (the run's failure recorded) when the page cannot sign."""
        self.page = response.meta["playwright_page"]
        try:
            await self._check_page()
        except SigningError as err:
            self.signing_failed(err)
            return False
        return True

    async def sign(self, *args: Any) -> Signature:
        """The page's ``sign_function(*args)`` (a header name → value object) and the generation of the
        page that made it. Waits while the page reloads. Raises SigningError when the page cannot sign."""
        while True:
            reload = self._reload
            if reload is not None and not reload.done():
                await reload  # a page being reloaded cannot sign; the reloaded one signs with the new secret
            generation = self.signing_generation
            try:
                return Signature(await self._call_sign_function(args), generation)
            except SigningError:
                if self._reload is not reload:  # a reload began while the page was signing: sign again
                    continue
                raise

    async def _call_sign_function(self, args: tuple[Any, ...]) -> dict[str, str]:
        from playwright.async_api import Error as PlaywrightError

        if self.page is None:
            raise SigningError("the signing page is not open")
        try:
            signed = await self.page.evaluate(f"(args) => Promise.resolve({self.sign_function}(...args))", list(args))
        except PlaywrightError as err:
            raise SigningError(f"{self.sign_function} failed in the page: {str(err).splitlines()[0]}") from err
        if not isinstance(signed, dict):
            raise SigningError(f"{self.sign_function} returned {type(signed).__name__}, not an object of headers")
        return {str(name): str(value) for name, value in signed.items()}

    async def sign_again(self, response: Response) -> scrapy.Request | None:
        """The request the site refused as stale, signed again: its meta holds ``redo`` (an async
        function building it anew) and ``signing_generation``. None: signing is broken for this run."""
        if not await self.stale_signature(response.meta["signing_generation"]):
            return None
        redo: Redo = response.meta["redo"]
        return await redo()

    async def stale_signature(self, generation: int) -> bool:
        """The site refused a signature of page ``generation`` as stale. True: sign the request again (the
        page has been reloaded since, now or after an earlier refusal). False: a freshly loaded page was
        refused too, or reloading failed — signing is broken for this run."""
        if generation < self.signing_generation:
            return True
        if self._reload is None:
            self._reload = asyncio.ensure_future(self._reload_page())
        elif self._reload.done():
            if self._reload.result():
                self.logger.warning("%s refused a signature made by a freshly loaded page", self.platform)
            return False
        return await self._reload

    async def _reload_page(self) -> bool:
        """Reload the page (its script gets the site's current secret), once per run."""
        self.crawler.stats.inc_value("fengxiang/key_refreshes")
        self.logger.info("the site refused a signature as stale: reloading its page")
        try:
            assert self.page is not None
            await self.page.reload(wait_until="load")
            await self._check_page()
        except Exception as err:  # a reload that times out or crashes leaves nothing that can sign
            cause = err if isinstance(err, SigningError) else f"reloading the signing page failed: {err}"
            self.signing_failed(SigningError(str(cause).splitlines()[0]))
            return False
        self.signing_generation += 1
        return True

    async def _check_page(self) -> None:
        assert self.page is not None
        kind = await self.page.evaluate(f"() => typeof {self.sign_function}")
        if kind != "function":
            raise SigningError(
                f"{self.web_url}{self.signing_page} has no signing function {self.sign_function} — the site changed "
                f"its script (update the {self.platform} crawler), or sources.{self.platform}.web_url is not its site"
            )
        cookies = await self.page.context.cookies(self.web_url)
        self.page_cookies = {cookie["name"]: cookie["value"] for cookie in cookies}

    def signing_failed(self, error: Exception) -> None:
        """No request can be signed: the run fails and its health record says why."""
        self.crawler.stats.set_value(SIGNING_FAILED_STAT, str(error))
        self.logger.error("cannot sign %s requests: %s", self.platform, error)

    def signing_page_failed(self, failure: Any) -> None:
        message = failure.getErrorMessage().splitlines()[0] if failure.getErrorMessage() else repr(failure.value)
        self.signing_failed(
            SigningError(f"the signing page {self.web_url}{self.signing_page} did not open in Chromium: {message}")
        )
