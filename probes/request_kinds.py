"""The request vocabulary: which of a page's requests the engine reasons about, by Playwright's
``request.resource_type`` and by method. One place, so "an API call" means the same thing to
the recorder, the first-failure finder and the classifier."""

UNTYPED = ""  # recorded without a type (a link-level stall, an older store): assume it mattered
API = frozenset({"xhr", "fetch"})  # calls to a back end; their error bodies carry the error code
PAGE = API | {"document"}  # a failure here breaks the page (unlike an image's or a font's)
WAITED_ON = PAGE | {"script", "stylesheet"}  # a page is not usable until these arrive
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # methods that change nothing on the server


def breaks_page(resource_type: str) -> bool:
    """A failure of this request breaks the page (untyped ones are given the benefit of the doubt)."""
    return resource_type in PAGE or resource_type == UNTYPED
