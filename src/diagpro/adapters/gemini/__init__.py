"""Gemini on Vertex AI: everything the analyzer needs that does not talk to the network.

``build_prompt`` writes the system instruction and the customer's data block, ``response_schema``
is the JSON schema the answer must follow, and ``parse_analysis`` turns the answer into a checked
``Analysis`` or raises ``AnalysisInvalid`` (retried by the worker, never printed). Nothing here
imports google-genai.
"""

from diagpro.adapters.gemini.output import parse_analysis
from diagpro.adapters.gemini.prompt import PROMPT_VERSION, Prompt, build_prompt
from diagpro.adapters.gemini.schema import response_schema

__all__ = ["PROMPT_VERSION", "Prompt", "build_prompt", "parse_analysis", "response_schema"]
