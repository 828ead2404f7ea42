"""Airtel click-to-call settles on what the platform really sends.

Each call gets its own callback URLs carrying ``call.callback_ref``, and a send's provider_ref becomes the
correlationId Airtel answered (it was our own "call-<id>", which the platform never sends back). Callbacks
the previous version could not tie to a call (stored "orphan" or "invalid") go back to "received", so the
apply job (webapp.callbacks.jobs.apply_received) applies them again, in arrival order, with the new
matching.
"""

STEPS = [
    'ALTER TABLE "call" ADD COLUMN callback_ref VARCHAR(32)',
    'CREATE UNIQUE INDEX call_callback_ref ON "call" (callback_ref)',
    """UPDATE send SET provider_ref = (SELECT c.airtel_id FROM "call" c WHERE c.id = send.subject_id)
       WHERE kind = 'c2c.airtel'
         AND EXISTS (SELECT 1 FROM "call" c WHERE c.id = send.subject_id AND c.airtel_id <> '')""",
    """UPDATE callback_event SET status = 'received', error = 'replayed after the Airtel matching change'
       WHERE provider = 'airtel' AND status IN ('orphan', 'invalid')""",
]
