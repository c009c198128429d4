"""The runners `mailbot run` supervises: one intake runner per mailbox, the outgoing runner, the scheduler."""
