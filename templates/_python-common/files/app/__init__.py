"""A levee micro app. Start it with: uv run uvicorn app.main:create_app --factory --reload"""
