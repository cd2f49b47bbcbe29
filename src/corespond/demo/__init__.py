"""The synthetic city: people, places, calls, agency exports in native formats, ground truth.

Nothing here is imported by the product. The entry point is :func:`corespond.demo.city.build_city`.
"""
