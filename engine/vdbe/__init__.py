"""vdbe"""
