"""A local test portal: real HTTP servers on 127.0.0.x imitating Chinese government portals.

``fixtures.portal`` starts every site for a test session; ``expected.EXPECTED`` is what a correct
crawl of each site finds; ``python -m tests.portal`` runs it in the foreground. Each site's
docstring says what it imitates of real portals and why.
"""
