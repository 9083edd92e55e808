"""The only modules that use other libraries' private internals, one module per library.

Each adapter says which private names it relies on and offers ``compatibility_problems()``,
which a test runs so that an upgrade that removes or changes them fails loudly.
"""
